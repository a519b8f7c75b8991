/* attnviz-recent.c: the models opened lately */
#define G_LOG_DOMAIN "attnviz-recent"
#include "config.h"

#include <errno.h>

#include <glib/gstdio.h>

#include "attnviz-fileutil.h"
#include "attnviz-recent.h"

/* The list is a few paths: anything larger is not ours. */
#define MAX_RECENT_BYTES (1 << 20)

#define GROUP "Recent"
#define KEY "Models"

static char *
recent_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "attnviz", "recent", NULL);
}

static char **
read_all (void)
{
  g_autofree char *path = recent_path ();
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  char **paths;

  /* Read like any other input: a regular file, not too large. */
  if (!attnviz_read_regular (path, MAX_RECENT_BYTES, "a list of recent models", &contents, &len, NULL)
      || !g_key_file_load_from_data (kf, contents, len, G_KEY_FILE_NONE, NULL)
      || (paths = g_key_file_get_string_list (kf, GROUP, KEY, NULL, NULL)) == NULL)
    return g_new0 (char *, 1);
  return paths;
}

char **
attnviz_recent_list (void)
{
  g_auto(GStrv) all = read_all ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; all[i] != NULL; i++)
    if (g_file_test (all[i], G_FILE_TEST_EXISTS))
      g_strv_builder_add (builder, all[i]);
  return g_strv_builder_end (builder);
}

void
attnviz_recent_add (const char *path)
{
  g_return_if_fail (path != NULL);

  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  g_auto(GStrv) all = read_all ();
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();

  g_ptr_array_add (kept, absolute);
  for (guint i = 0; all[i] != NULL && kept->len < ATTNVIZ_RECENT_MAX; i++)
    if (!g_str_equal (all[i], absolute))
      g_ptr_array_add (kept, all[i]);

  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_key_file_set_string_list (kf, GROUP, KEY, (const char *const *) kept->pdata, kept->len);

  g_autofree char *file = recent_path ();
  g_autofree char *dir = g_path_get_dirname (file);
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  g_autofree char *data = g_key_file_to_data (kf, &len, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0 || !attnviz_file_set_contents (file, data, len, &error))
    g_debug ("Could not remember %s in %s: %s", absolute, file,
             error ? error->message : g_strerror (errno));
}
