/* attnviz-demos.c: the built-in demo models and their sample inputs */
#define G_LOG_DOMAIN "attnviz-demos"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-demos.h"
#include "attnviz-json.h"

char *
attnviz_demos_dir (void)
{
  const char *env = g_getenv ("ATTNVIZ_DEMO_DIR");
  if (env != NULL && *env != '\0')
    return g_file_test (env, G_FILE_TEST_IS_DIR) ? g_strdup (env) : NULL;
  g_autofree char *installed = g_build_filename (ATTNVIZ_DATADIR, "models", NULL);
  if (g_file_test (installed, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&installed);
  g_autofree char *source = g_build_filename (ATTNVIZ_SOURCE_DATADIR, "models", NULL);
  if (g_file_test (source, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&source);
  return NULL;
}

void
attnviz_demo_free (AttnvizDemo *demo)
{
  if (demo == NULL)
    return;
  g_free (demo->path);
  g_free (demo->title);
  g_free (demo->description);
  g_free (demo->inputs);
  g_strfreev (demo->samples);
  g_free (demo);
}

/* A member of OBJ that must be a non-empty string of at most MAX bytes. */
static char *
dup_string (JsonObject *obj, const char *key, gsize max, const char *file, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  const char *s = node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                    ? json_node_get_string (node) : NULL;
  if (s == NULL || *s == '\0' || strlen (s) > max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: \"%s\" should be a text of 1 to %zu bytes", file, key, max);
      return NULL;
    }
  return g_strdup (s);
}

AttnvizDemo *
attnviz_demo_load (const char *model_dir, GError **error)
{
  g_autofree char *file = g_build_filename (model_dir, "demo.json", NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = attnviz_json_load (file, ATTNVIZ_JSON_CONFIG, &local);
  if (root == NULL)
    {
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (root);
  g_autoptr(AttnvizDemo) demo = g_new0 (AttnvizDemo, 1);
  demo->path = g_strdup (model_dir);
  if (!(demo->title = dup_string (obj, "title", 80, file, error))
      || !(demo->description = dup_string (obj, "description", ATTNVIZ_DEMO_MAX_TEXT, file, error)))
    return NULL;
  if (json_object_has_member (obj, "inputs")
      && !(demo->inputs = dup_string (obj, "inputs", ATTNVIZ_DEMO_MAX_TEXT, file, error)))
    return NULL;
  JsonNode *samples = json_object_get_member (obj, "samples");
  JsonArray *array = samples && JSON_NODE_HOLDS_ARRAY (samples) ? json_node_get_array (samples) : NULL;
  guint n = array ? json_array_get_length (array) : 0;
  if (n == 0 || n > ATTNVIZ_DEMO_MAX_SAMPLES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: \"samples\" should be a list of 1 to %d texts", file, ATTNVIZ_DEMO_MAX_SAMPLES);
      return NULL;
    }
  demo->samples = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      const char *s = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                        ? json_node_get_string (e) : NULL;
      if (s == NULL || *s == '\0' || strlen (s) > ATTNVIZ_DEMO_MAX_TEXT)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: sample %u should be a text of 1 to %d bytes", file, i, ATTNVIZ_DEMO_MAX_TEXT);
          return NULL;
        }
      demo->samples[i] = g_strdup (s);
    }
  return g_steal_pointer (&demo);
}

const char *
attnviz_demo_get_sample (const AttnvizDemo *demo)
{
  return demo->samples[0];
}

static int
by_path (gconstpointer a, gconstpointer b)
{
  const AttnvizDemo *x = *(AttnvizDemo *const *) a, *y = *(AttnvizDemo *const *) b;
  return g_strcmp0 (x->path, y->path);
}

GPtrArray *
attnviz_demos_list (void)
{
  GPtrArray *demos = g_ptr_array_new_with_free_func ((GDestroyNotify) attnviz_demo_free);
  g_autofree char *dir = attnviz_demos_dir ();
  g_autoptr(GDir) d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      g_autoptr(GError) error = NULL;
      AttnvizDemo *demo = attnviz_demo_load (path, &error);
      if (demo != NULL)
        g_ptr_array_add (demos, demo);
      else if (error != NULL)
        g_warning ("%s", error->message);
    }
  g_ptr_array_sort (demos, by_path);
  return demos;
}
