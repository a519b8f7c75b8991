/* attnviz tokenize as a user meets it: llama.cpp's ids from a vocabulary-only
 * GGUF, JSON that parses, one-line errors with the right exit codes. */
#define G_LOG_DOMAIN "test-cli-tokenize"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "attnviz-test-util.h"

#define LLREF "/tmp/llref/llref"
#define LLREF_LIBDIR_FILE "/tmp/llref/libdir"

static const char *const vocabs[] = { "gpt-2", "bert-bge", "llama-spm", "phi-3", "llama-bpe", "qwen2" };

static char *
vocab_path (const char *name)
{
  g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", name);

  return attnviz_test_shared_path ("tokenizers", "llama.cpp-vocab-gguf", file, NULL);
}

/* A temporary file holding TEXT; g_remove it after. */
static char *
temp_text (const char *text, gssize len)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("attnviz-cli-tokenize-XXXXXX.txt", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (path, text, len, &error);
  g_assert_no_error (error);
  return path;
}

/* stdout's one line of ids, "1 2 3", without its newline. */
static char *
ids_line (const AttnvizTestRun *r)
{
  const char *nl = strchr (r->out, '\n');

  g_assert_cmpint (r->status, ==, 0);
  g_assert_nonnull (nl);
  g_assert_cmpstr (nl + 1, ==, "");
  return g_strndup (r->out, nl - r->out);
}

/* ---------------------------------------------------------------- llama.cpp's ids */

/* Every fourth of llama.cpp's test inputs, through --text-file and
 * --no-special (the vectors were made without special tokens). */
static void
test_vocab_only_gguf_gives_llama_cpp_ids (gconstpointer data)
{
  g_autofree char *gguf = vocab_path (data);
  g_autofree char *inp_path = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *inp = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) cases = NULL;
  g_auto(GStrv) expected = NULL;
  g_autoptr(GError) error = NULL;
  guint n_cases, checked = 0;

  if (gguf == NULL)
    return;
  inp_path = g_strconcat (gguf, ".inp", NULL);
  out_path = g_strconcat (gguf, ".out", NULL);
  g_file_get_contents (inp_path, &inp, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (out_path, &out, NULL, &error);
  g_assert_no_error (error);
  cases = g_strsplit (inp, "\n__ggml_vocab_test__\n", -1);
  expected = g_strsplit (out, "\n", -1);
  n_cases = g_strv_length (cases) - 1;
  g_assert_cmpuint (n_cases, ==, 46);

  for (guint i = 0; i < n_cases; i += 4)
    {
      g_autofree char *text = temp_text (cases[i], -1);
      g_auto(AttnvizTestRun) r = { 0 };
      g_autofree char *got = NULL;

      attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text-file", text, "--no-special", NULL);
      got = ids_line (&r);
      g_assert_cmpstr (got, ==, g_strstrip (expected[i]));
      g_remove (text);
      checked++;
    }
  g_test_message ("%s: %u inputs give llama.cpp's ids", (const char *) data, checked);
}

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

/* With special tokens (BOS, [CLS] ... [SEP]) as llama_tokenize adds them. */
static void
test_special_tokens_as_llama_cpp_adds_them (gconstpointer data)
{
  static const char *const texts[] = { "Hello world", " leading space and 123456 digits", "Zoë 🙂\n\ncafé" };
  g_autofree char *gguf = vocab_path (data);
  g_autofree char *libdir = NULL;

  if (gguf == NULL)
    return;
  if (!have_llref (&libdir))
    {
      g_test_skip (LLREF " is absent: no comparison with llama.cpp");
      return;
    }
  for (gsize t = 0; t < G_N_ELEMENTS (texts); t++)
    for (int special = 0; special <= 1; special++)
      {
        g_autofree char *text = temp_text (texts[t], -1);
        g_auto(AttnvizTestRun) r = { 0 };
        g_autoptr(GSubprocessLauncher) launcher =
          g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
        g_autoptr(GSubprocess) proc = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *want = NULL;
        g_autofree char *got = NULL;

        g_subprocess_launcher_setenv (launcher, "LLREF_LIBDIR", libdir, TRUE);
        proc = g_subprocess_launcher_spawn (launcher, &error, LLREF, "tokenize", gguf, text,
                                            special ? "1" : "0", NULL);
        g_assert_no_error (error);
        g_subprocess_communicate_utf8 (proc, NULL, NULL, &want, NULL, &error);
        g_assert_no_error (error);
        g_strdelimit (g_strstrip (want), ",", ' ');

        if (special)
          attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text", texts[t], NULL);
        else
          attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text", texts[t], "--no-special", NULL);
        got = ids_line (&r);
        g_assert_cmpstr (got, ==, want);
        g_remove (text);
      }
}

/* ---------------------------------------------------------------- JSON */

static void
test_json_parses_and_spans_point_into_the_text (void)
{
  const char *text = "Zoë said \"hi\"\n\tto 42 🙂 <|im_start|>";
  g_autofree char *gguf = vocab_path ("qwen2");
  g_auto(AttnvizTestRun) plain = { 0 };
  g_auto(AttnvizTestRun) r = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) plain_ids = NULL;
  JsonObject *root;
  JsonArray *ids, *tokens;
  GString *joined = g_string_new (NULL);

  if (gguf == NULL)
    return;
  attnviz_test_run_attnviz (&plain, "tokenize", gguf, "--text", text, NULL);
  plain_ids = g_strsplit (g_strstrip (plain.out), " ", -1);
  attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text", text, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "model"), ==, gguf);
  g_assert_cmpstr (json_object_get_string_member (root, "tokenizer"), ==, "gpt2-bpe");
  g_assert_cmpint (json_object_get_int_member (root, "vocab_size"), ==, 151936);
  g_assert_true (json_object_get_boolean_member (root, "add_special"));
  ids = json_object_get_array_member (root, "ids");
  tokens = json_object_get_array_member (root, "tokens");
  g_assert_cmpuint (json_array_get_length (ids), ==, g_strv_length (plain_ids));
  g_assert_cmpuint (json_array_get_length (tokens), ==, json_array_get_length (ids));
  for (guint i = 0; i < json_array_get_length (tokens); i++)
    {
      JsonObject *t = json_array_get_object_element (tokens, i);
      gint64 id = json_object_get_int_member (t, "id");
      gint64 start = json_object_get_int_member (t, "start");
      gint64 end = json_object_get_int_member (t, "end");
      const char *span = json_object_get_string_member (t, "text");

      g_assert_cmpint (id, ==, json_array_get_int_element (ids, i));
      g_assert_cmpint (id, ==, g_ascii_strtoll (plain_ids[i], NULL, 10));
      g_assert_nonnull (json_object_get_string_member (t, "piece"));
      g_assert_false (json_object_get_boolean_member (t, "special"));
      g_assert_cmpint (start, ==, joined->len);
      g_assert_cmpint (end, >, start);
      g_assert_cmpint (end, <=, strlen (text));
      /* A character spelt in several byte pieces: each shows U+FFFD. */
      if (g_utf8_validate (text + start, end - start, NULL))
        g_assert_cmpmem (span, strlen (span), text + start, end - start);
      g_string_append_len (joined, text + start, end - start);
    }
  g_assert_cmpstr (joined->str, ==, text);
  g_string_free (joined, TRUE);
}

/* A model folder (or its .safetensors file) works too, and agrees with its GGUF. */
static void
test_hf_folder_agrees_with_its_gguf (void)
{
  g_autofree char *hf = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  g_autofree char *gguf = attnviz_test_shared_path ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
  const char *text = "Once upon a time, Lily saw a big red ball. Zoë!";
  g_autofree char *weights = NULL;
  g_auto(AttnvizTestRun) a = { 0 };
  g_auto(AttnvizTestRun) b = { 0 };
  g_auto(AttnvizTestRun) c = { 0 };
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  g_autofree char *z = NULL;

  if (hf == NULL)
    return;
  weights = g_build_filename (hf, "model.safetensors", NULL);
  attnviz_test_run_attnviz (&a, "tokenize", hf, "--text", text, NULL);
  attnviz_test_run_attnviz (&b, "tokenize", gguf, "-t", text, NULL);
  attnviz_test_run_attnviz (&c, "tokenize", weights, "-t", text, NULL);
  x = ids_line (&a);
  y = ids_line (&b);
  z = ids_line (&c);
  g_assert_true (g_str_has_prefix (x, "1 "));
  g_assert_cmpstr (x, ==, y);
  g_assert_cmpstr (x, ==, z);
}

/* ---------------------------------------------------------------- errors */

static void
test_usage_errors_exit_with_2 (void)
{
  g_autofree char *gguf = vocab_path ("gpt-2");
  const char *const runs[][6] = {
    { "tokenize", NULL },
    { "tokenize", "--text", "x", NULL },
    { "tokenize", "a.gguf", "b.gguf", "--text", "x", NULL },
    { "tokenize", "a.gguf", NULL },
    { "tokenize", "a.gguf", "--text", "x", "--text-file", "y" },
    { "tokenize", "a.gguf", "--text", "x", "--frobnicate", NULL },
  };

  if (gguf == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      const char *args[8] = { NULL };

      for (int k = 0; k < 6 && runs[i][k] != NULL; k++)
        args[k] = g_str_equal (runs[i][k], "a.gguf") ? gguf : runs[i][k];
      attnviz_test_run_attnvizv (&r, args);
      attnviz_test_assert_one_line_error (&r, 2, NULL);
      g_assert_cmpstr (r.out, ==, "");
    }
}

static void
test_help_exits_with_0 (void)
{
  g_auto(AttnvizTestRun) r = { 0 };

  attnviz_test_run_attnviz (&r, "tokenize", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--no-special"));
  g_assert_nonnull (strstr (r.out, "GGUF"));
}

static void
test_bad_files_are_one_line_errors (void)
{
  g_autofree char *gguf = vocab_path ("qwen2");
  g_autofree char *dir = NULL;
  g_autofree char *not_gguf = NULL;
  g_autofree char *bad_text = NULL;
  g_autofree char *fifo = NULL;
  g_autoptr(GError) error = NULL;

  if (gguf == NULL)
    return;
  dir = g_dir_make_tmp ("attnviz-cli-tokenize-XXXXXX", &error);
  g_assert_no_error (error);
  not_gguf = temp_text ("this is not a GGUF file", -1);
  bad_text = temp_text ("ok \xff\xfe then", -1);
  fifo = g_build_filename (dir, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  {
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", "/no/such/model.gguf", "--text", "x", NULL);
    attnviz_test_assert_one_line_error (&r, 1, "/no/such/model.gguf");
  }
  {
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", not_gguf, "--text", "x", NULL);
    attnviz_test_assert_one_line_error (&r, 1, not_gguf);
  }
  {
    /* A folder without a tokenizer. */
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", dir, "--text", "x", NULL);
    attnviz_test_assert_one_line_error (&r, 1, dir);
  }
  {
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text-file", bad_text, NULL);
    attnviz_test_assert_one_line_error (&r, 1, bad_text);
    g_assert_nonnull (strstr (r.err, "invalid UTF-8 at byte 3"));
  }
  {
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text-file", "/no/such/text.txt", NULL);
    attnviz_test_assert_one_line_error (&r, 1, "/no/such/text.txt");
  }
  {
    /* Refused before a byte is read: a FIFO would block. */
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text-file", fifo, NULL);
    attnviz_test_assert_one_line_error (&r, 1, fifo);
  }
  {
    /* A GGUF file as the text: not UTF-8. */
    g_auto(AttnvizTestRun) r = { 0 };

    attnviz_test_run_attnviz (&r, "tokenize", gguf, "--text-file", gguf, NULL);
    attnviz_test_assert_one_line_error (&r, 1, "invalid UTF-8");
  }
  g_remove (not_gguf);
  g_remove (bad_text);
  g_remove (fifo);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (vocabs); i++)
    {
      g_autofree char *ids = g_strdup_printf ("/cli/tokenize/%s/vocab-only-gguf-gives-llama-cpp-ids", vocabs[i]);
      g_autofree char *special = g_strdup_printf ("/cli/tokenize/%s/special-tokens-as-llama-cpp-adds-them",
                                                  vocabs[i]);

      g_test_add_data_func (ids, vocabs[i], test_vocab_only_gguf_gives_llama_cpp_ids);
      g_test_add_data_func (special, vocabs[i], test_special_tokens_as_llama_cpp_adds_them);
    }
  g_test_add_func ("/cli/tokenize/json-parses-and-spans-point-into-the-text",
                   test_json_parses_and_spans_point_into_the_text);
  g_test_add_func ("/cli/tokenize/hf-folder-agrees-with-its-gguf", test_hf_folder_agrees_with_its_gguf);
  g_test_add_func ("/cli/tokenize/usage-errors-exit-with-2", test_usage_errors_exit_with_2);
  g_test_add_func ("/cli/tokenize/help-exits-with-0", test_help_exits_with_0);
  g_test_add_func ("/cli/tokenize/bad-files-are-one-line-errors", test_bad_files_are_one_line_errors);
  return g_test_run ();
}
