/* attnviz-test-cli-long.c: what the long-input command-line test programs share */
#define G_LOG_DOMAIN "test-cli-long"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/resource.h>

#include "attnviz-test-cli-long.h"

static char *long_model;    /* stories260K with a context of 8192 */
char *attnviz_test_scratch;

/* The copy of stories260K, made once; NULL (the test skipped) without ../shared. */
const char *
attnviz_test_long_model (void)
{
  if (long_model != NULL)
    return long_model;
  g_autofree char *src = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (src == NULL)
    return NULL;
  g_autofree char *dir = g_build_filename (attnviz_test_scratch, "s8k", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  static const char *const files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (from, &data, &len, NULL))
        continue;
      g_assert_true (g_file_set_contents (to, data, (gssize) len, NULL));
    }
  g_autofree char *config_src = g_build_filename (src, "config.json", NULL);
  g_autofree char *config_dst = g_build_filename (dir, "config.json", NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, config_src, NULL));
  json_object_set_int_member (json_node_get_object (json_parser_get_root (p)), "max_position_embeddings", 8192);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (p));
  g_assert_true (json_generator_to_file (gen, config_dst, NULL));
  long_model = g_steal_pointer (&dir);
  return long_model;
}

/* "1,8,15,...": N ids of stories260K's vocabulary, BOS first. */
char *
attnviz_test_some_ids (int n)
{
  GString *s = g_string_new ("1");
  for (int i = 1; i < n; i++)
    g_string_append_printf (s, ",%d", 3 + (i * 7 + i / 13) % 509);
  return g_string_free (s, FALSE);
}

char *
attnviz_test_out_path (const char *name)
{
  return g_build_filename (attnviz_test_scratch, name, NULL);
}

/* Runs attnviz ARGS (NULL-terminated), under an address-space limit of AS
 * bytes unless 0, and asserts it succeeded. */
static void
child_limit (gpointer data)
{
  rlim_t as = (rlim_t) GPOINTER_TO_SIZE (data);
  struct rlimit r = { as, as };
  setrlimit (RLIMIT_AS, &r);
}

void
attnviz_test_run_limited (AttnvizTestRun *r, const char *const *args, gsize as)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("ATTNVIZ_EXE"));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (as > 0)
    g_subprocess_launcher_set_child_setup (l, child_limit, GSIZE_TO_POINTER (as), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
  if (r->err && *r->err)
    g_test_message ("stderr: %s", r->err);
}

void
attnviz_test_dump_ok (const char *const *args)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnvizv (&r, args);
  g_assert_cmpint (r.status, ==, 0);
}

gboolean
attnviz_test_address_space_limits_work (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("AddressSanitizer reserves more address space than any limit would leave: run without one");
  return FALSE;
#else
  return TRUE;
#endif
}

void
attnviz_test_cli_long_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  attnviz_test_scratch = g_dir_make_tmp ("attnviz-cli-long-XXXXXX", NULL);
  g_assert_nonnull (attnviz_test_scratch);
}

int
attnviz_test_cli_long_run (void)
{
  int status = g_test_run ();
  attnviz_test_remove_tree (attnviz_test_scratch);
  g_free (attnviz_test_scratch);
  g_free (long_model);
  return status;
}
