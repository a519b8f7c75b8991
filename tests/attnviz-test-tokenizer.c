/* attnviz-test-tokenizer.c: what the tokenizer test programs share */
#include "config.h"

#include <glib/gstdio.h>

#include "attnviz-test-tokenizer.h"
#include "attnviz-test-util.h"

/* Tokenizers under ../shared, loaded once and shared by the tests (a
 * tokenizer is immutable): folder -> AttnvizTokenizer. */
static GHashTable *loaded;

/* The tokenizer in ../shared/data/A/B[/C], or NULL after skipping. */
const AttnvizTokenizer *
attnviz_test_tokenizer_shared (const char *a, const char *b, const char *c)
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

GArray *
attnviz_test_encode (const AttnvizTokenizer *tok, const char *text, gboolean add_special)
{
  g_autoptr(GError) error = NULL;
  GArray *tokens = attnviz_tokenizer_encode (tok, text, -1, add_special, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

char *
attnviz_test_ids_to_string (const gint32 *ids, gsize n)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? " " : "", ids[i]);
  return g_string_free (s, FALSE);
}

gint32 *
attnviz_test_token_ids (GArray *tokens)
{
  gint32 *ids = g_new (gint32, tokens->len + 1);

  for (guint i = 0; i < tokens->len; i++)
    ids[i] = g_array_index (tokens, AttnvizToken, i).id;
  return ids;
}

void
attnviz_test_write_file (const char *dir, const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

void
attnviz_test_copy_file (const char *from, const char *dir, const char *name)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (from, &contents, NULL, &error);
  g_assert_no_error (error);
  attnviz_test_write_file (dir, name, contents);
}

/* Removes the files this test wrote into DIR, then DIR. */
void
attnviz_test_remove_temp_dir (const char *dir)
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

char *
attnviz_test_make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-tokenizer-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
attnviz_test_tokenizer_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) attnviz_tokenizer_free);
}

int
attnviz_test_tokenizer_run (void)
{
  int status = g_test_run ();

  g_hash_table_unref (loaded);
  return status;
}
