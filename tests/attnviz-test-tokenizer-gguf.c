/* attnviz-test-tokenizer-gguf.c: what the GGUF tokenizer test programs share */
#define G_LOG_DOMAIN "attnviz-test-tokenizer-gguf"

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-test-tokenizer-gguf.h"
#include "attnviz-test-util.h"

/* GGUF path -> AttnvizTokenizer, loaded once (a tokenizer is immutable). */
static GHashTable *loaded;

AttnvizTokenizer *
attnviz_test_gguf_tokenizer (const char *path, GError **error)
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
const AttnvizTokenizer *
attnviz_test_gguf_tokenizer_shared (const char *a, const char *b, const char *c, char **path_out)
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
      tok = attnviz_test_gguf_tokenizer (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (tok);
      g_hash_table_insert (loaded, g_steal_pointer (&path), tok);
    }
  return tok;
}

const AttnvizTokenizer *
attnviz_test_vocab (const char *name, char **path_out)
{
  g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", name);

  return attnviz_test_gguf_tokenizer_shared ("tokenizers", "llama.cpp-vocab-gguf", file, path_out);
}

GArray *
attnviz_test_gguf_encode_len (const AttnvizTokenizer *tok, const char *text, gsize len, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  GArray *tokens = attnviz_tokenizer_encode (tok, text, len, add_special, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

GArray *
attnviz_test_gguf_encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  return attnviz_test_gguf_encode_len (tok, text, strlen (text), add_special);
}

/* "1,2,3" as llama.cpp's tools print them. */
char *
attnviz_test_ids_string (GArray *tokens)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < tokens->len; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", g_array_index (tokens, AttnvizToken, i).id);
  return g_string_free (s, FALSE);
}

char *
attnviz_test_gguf_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-tokenizer-gguf-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
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
guint
attnviz_test_compare_with_llama_cpp (const AttnvizTokenizer *tok, const char *path, const char *const *texts,
                        const gsize *lens, gsize n_texts)
{
  g_autofree char *libdir = NULL;
  g_autofree char *base = g_path_get_basename (path);
  guint compared = 0, failures = 0;

  if (!attnviz_test_have_llref (&libdir))
    {
      g_test_message (LLREF " is absent: no comparison with llama.cpp");
      return 0;
    }
  for (gsize t = 0; t < n_texts; t++)
    for (int add_special = 0; add_special <= 1; add_special++)
      {
        gsize len = lens != NULL ? lens[t] : strlen (texts[t]);
        g_autoptr(GArray) tokens = attnviz_test_gguf_encode_len (tok, texts[t], len, add_special);
        g_autofree char *got = attnviz_test_ids_string (tokens);
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

void
attnviz_test_tokenizer_gguf_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) attnviz_tokenizer_free);
}

int
attnviz_test_tokenizer_gguf_run (void)
{
  int status = g_test_run ();

  g_hash_table_unref (loaded);
  return status;
}
